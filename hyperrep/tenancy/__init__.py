"""Tenancy: the organization column every tenant-owned table shares, the manager that will
not read without one, and the admin's base for tenant rows (models.py, admin.py)."""
