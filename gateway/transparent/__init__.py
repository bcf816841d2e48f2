"""Transparent mode: sandboxes with no proxy settings, identified by source address.

``names`` decides which name a transparently redirected connection is for (and that
it really goes where that name points); ``dns`` answers a sandbox's DNS queries only
for names its task may reach. Neither imports mitmproxy.
"""
