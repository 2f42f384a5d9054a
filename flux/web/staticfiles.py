"""How static files are stored by collectstatic and linked from pages (settings.STORAGES, README "Deploying")."""

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage


def without_source_maps(patterns: tuple) -> tuple:
    """Django's reference-rewriting patterns minus the sourceMappingURL ones."""
    return tuple(
        (
            extension,
            tuple(rule for rule in rules if "sourceMappingURL" not in (rule if isinstance(rule, str) else rule[0])),
        )
        for extension, rules in patterns
    )


class CompressedFingerprintedStorage(CompressedManifestStaticFilesStorage):
    """Compressed copies named by content hash once collectstatic has run; plain names until then, so a
    checkout runs without a build step (Django links plain names under DEBUG in any case)."""

    manifest_strict = False
    # The vendored files are shipped without their source maps, which their last line still names.
    patterns = without_source_maps(HashedFilesMixin.patterns)

    def stored_name(self, name: str) -> str:
        if self.hash_key(self.clean_name(name)) not in self.hashed_files:
            return name  # not collected (yet): the source folders serve it under its own name
        return super().stored_name(name)
