"""Data health on the web: the state of each feed and import source, as an overview panel."""
