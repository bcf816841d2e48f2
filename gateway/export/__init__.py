"""SIEM export: the audit trail in OCSF, CEF, LEEF, ECS and Splunk HEC, and its delivery.

``formats`` holds one pure function per format (``AuditEvent`` in, one line out);
``replay`` writes a time window of the trail through the query API.
"""
