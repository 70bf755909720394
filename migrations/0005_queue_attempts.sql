-- 0005: a queued import that cannot be processed must not hold up the queue (ADR 0011).
--
-- Every claim of a queued import by a queue runner counts one attempt. A claim that fails
-- without a verdict (the database errs, the server dies mid-way) leaves the import
-- 'processing' and unlocked, to be claimed again; after MARKR's limit of 5 attempts the
-- next claim gives it up instead: status 'rejected' with reason
-- {"error": "processing_failed", ...}, so the imports behind it go on. `markr reprocess
-- --import ID` can still judge it again by hand once the cause is fixed.
ALTER TABLE imports ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0);
