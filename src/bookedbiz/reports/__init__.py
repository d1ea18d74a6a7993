"""Reports: query functions shared by the web pages, the CLI and the JSON API."""
