-- The outlet's own name from the page (og:site_name), so outlets are told apart even when
-- several share a host or one syndicates another's story.
ALTER TABLE articles ADD COLUMN site_name text;
