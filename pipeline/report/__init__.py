"""report.html: tables, SVG charts and maps, the annual and monthly pages."""
