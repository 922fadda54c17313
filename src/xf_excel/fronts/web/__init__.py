"""The browser console: pages, security, uploads and jobs over the pipeline."""
