"""Ansible as osiris uses it: a generated inventory and playbooks run by ansible-runner."""
