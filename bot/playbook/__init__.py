"""Playbooks: YAML files that describe one family of outages, loaded into a typed model."""
