DROP TABLE ldap_runs;
