-- I5: the security groups (their DNs) amtflow put the device's AMT account in. Removal takes the
-- account out of exactly these — not the groups its profile names today, and never a membership
-- an administrator gave it by hand.
alter table directory_objects add column security_groups text[] not null default '{}';
