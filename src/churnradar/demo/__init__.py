"""Demo data: a vectorised simulator of customers and their behaviour, written as canonical import files."""
