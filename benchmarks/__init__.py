"""The benchmark of issue 8 (``python manage.py bench``): synthetic data at scale, each figure beside its floor."""
