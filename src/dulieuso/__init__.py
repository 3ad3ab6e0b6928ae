"""dulieuso: the provincial data platform (dữ liệu số)."""
