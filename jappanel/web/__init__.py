"""What every app's pages share: htmx helpers, access, and (in time) money, CSV and pagination."""
