"""Request and response models (pydantic): validation for the API and the importers alike."""
