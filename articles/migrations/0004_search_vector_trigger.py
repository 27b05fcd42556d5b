"""Full-text search on PostgreSQL: a trigger keeps `search_vector` current from the headline
(weight A), standfirst (B) and body without its markup (C), and a GIN index serves queries.
Nothing happens on SQLite, where search falls back to simple matching."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION articles_article_search_vector() RETURNS trigger AS $$
BEGIN
  NEW.search_vector :=
    setweight(to_tsvector('pg_catalog.english', coalesce(NEW.headline, '')), 'A') ||
    setweight(to_tsvector('pg_catalog.english', coalesce(NEW.standfirst, '')), 'B') ||
    setweight(to_tsvector('pg_catalog.english',
      regexp_replace(coalesce(NEW.body, ''), '<[^>]*>', ' ', 'g')), 'C');
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER articles_article_search_vector_update
  BEFORE INSERT OR UPDATE OF headline, standfirst, body, search_vector ON articles_article
  FOR EACH ROW EXECUTE FUNCTION articles_article_search_vector();

CREATE INDEX article_search_idx ON articles_article USING gin (search_vector);

UPDATE articles_article SET headline = headline;
"""

BACKWARD = """
DROP INDEX IF EXISTS article_search_idx;
DROP TRIGGER IF EXISTS articles_article_search_vector_update ON articles_article;
DROP FUNCTION IF EXISTS articles_article_search_vector();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("articles", "0003_reader_site")]
    operations = [migrations.RunPython(forward, backward)]
