"""The annotation loop: export to Label Studio/doccano, import labels back, active-learning suggestions and
inter-coder agreement."""
