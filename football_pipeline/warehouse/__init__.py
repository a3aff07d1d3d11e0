"""The warehouse: schema, migrations, canonical rows and transactional partition loads."""
