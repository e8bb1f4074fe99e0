"""PostgreSQL (psycopg 3) and SQLite (aiosqlite) persistence through SQLAlchemy 2 Core."""
