-- How many entries each reader's written timeline holds (an upper bound:
-- deletes do not lower it), so trimming visits only the timelines that
-- outgrew their bound instead of measuring every timeline a post reaches.
CREATE TABLE timeline_lengths (
    user_id BIGINT PRIMARY KEY,
    length  BIGINT NOT NULL
);
