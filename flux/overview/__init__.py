"""Feature: the project overview (page, API and the data composed from the apps' queries), home and settings pages."""
