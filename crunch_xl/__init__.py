"""crunch-xl: plan a primary school's classes from an Excel workbook."""

__version__ = "0.1.0"
