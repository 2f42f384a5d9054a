"""What the MCP tests share: reading a tool's answer whichever form the transport gave it."""

import json


def payload(result: object) -> dict:
    """The tool's JSON answer (structured content, or the JSON text of its first content block)."""
    assert not result.is_error, result.content
    return result.structured_content or json.loads(result.content[0].text)


def error_text(result: object) -> str:
    assert result.is_error
    return result.content[0].text
