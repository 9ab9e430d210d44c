-- A small CRM in PostgreSQL, as a churnradar SQL source reads it (see crm_postgres.yaml).
-- Every table has a column that grows when a row is written, so each sync reads only what changed.

CREATE TABLE accounts (
    id          text PRIMARY KEY,
    company     text NOT NULL,
    owner_email text,
    industry    text,
    created_on  date NOT NULL DEFAULT current_date,
    closed_on   date,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE activities (
    id          bigserial PRIMARY KEY,          -- the events' cursor: only new rows are read
    account_id  text NOT NULL REFERENCES accounts (id),
    happened_at timestamptz NOT NULL,
    activity    text NOT NULL,                  -- login, order, ticket, ...
    amount      numeric(12, 2),
    note        text
);

CREATE TABLE agreements (
    id          text PRIMARY KEY,
    account_id  text NOT NULL REFERENCES accounts (id),
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    yearly_fee  numeric(12, 2),
    auto_renew  boolean,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Keep updated_at current on every change (the cursor of customers and contracts).
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER accounts_touch BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER agreements_touch BEFORE UPDATE ON agreements FOR EACH ROW EXECUTE FUNCTION touch();
CREATE INDEX ON accounts (updated_at);
CREATE INDEX ON agreements (updated_at);

-- A read-only login for churnradar.
CREATE ROLE churnradar_reader LOGIN PASSWORD 'change-me';
GRANT SELECT ON accounts, activities, agreements TO churnradar_reader;

INSERT INTO accounts (id, company, owner_email, industry, created_on) VALUES
    ('A-1001', '华新机械', 'alice@example.com', 'manufacturing', '2024-01-03'),
    ('A-1002', 'Northwind Traders', 'bob@example.com', 'retail', '2023-05-01');
INSERT INTO activities (account_id, happened_at, activity, amount) VALUES
    ('A-1001', '2026-11-20 09:30+08', 'order', 1200.00),
    ('A-1002', '2026-11-21 10:00+00', 'login', NULL);
INSERT INTO agreements (id, account_id, starts_on, ends_on, yearly_fee, auto_renew) VALUES
    ('K-1001', 'A-1001', '2026-01-01', '2026-12-31', 48000, false);
