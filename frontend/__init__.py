"""Templates and static files: the reader viewer, coordinator console and statistician pages."""
