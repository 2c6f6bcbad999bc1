-- Full-text search (issue 13): message text and thread display names.
--
-- Expression GIN indexes over `to_tsvector('simple', …)`: the `simple`
-- configuration only lower-cases (no stemming, no stop words, diacritics
-- kept), so Turkish and English are matched alike and as written. Case is
-- folded with the database's LC_CTYPE (C.UTF-8 or xx_XX.UTF-8 fold every
-- letter, `İ` → `i`; a plain `C` database folds ASCII only). The indexes
-- follow every insert, delete (clearing) and update by themselves; the
-- queries (store::search) repeat the same expressions so that they are used.
CREATE INDEX messages_search ON messages USING GIN (to_tsvector('simple', content_text));
CREATE INDEX threads_search ON threads USING GIN (to_tsvector('simple', display_name));
