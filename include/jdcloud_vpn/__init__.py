"""Airflow automation of a JD Cloud cross-region IPsec VPN interconnect.

``conf`` holds the interconnect model, ``naming`` the resource names, ``params`` the trigger-form Params.
"""
