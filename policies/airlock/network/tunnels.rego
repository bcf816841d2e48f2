# Ports and opaque tunnels (part of package airlock.network, see network.rego).
#
# Ports are a property of the tunnel: a port that no allow entry of the profile
# lists is refused as port_not_allowed (the proxy refuses such a CONNECT at once).
# An opaque tunnel (kind "tcp": neither TLS nor HTTP inside the CONNECT) is allowed
# only by an entry with "raw_tcp": true for its host and port.
package airlock.network

# Every port some entry of the profile lists.
profile_ports contains p if {
	some entry in entries
	some p in entry_ports(entry)
}

# Kinds whose destination port is checked against the profile's ports.
port_kinds := {"http", "connect"}

# The destination port is one no entry of the profile lists (a profile without
# entries, or a request without a port, is simply not allowed).
default port_unlisted := false

port_unlisted if {
	kind in port_kinds
	port >= 0
	count(profile_ports) > 0
	not port in profile_ports
}

# An entry serves requests of any kind; an opaque tunnel needs "raw_tcp": true.
kind_matches(_, req_kind) if req_kind != "tcp"

kind_matches(entry, "tcp") if entry.raw_tcp == true

# An opaque tunnel has no method.
method_matches(_, _, "tcp")

# METADATA
# title: Port not allowed
# description: No entry of the profile lists the destination port.
# scope: rule
# custom:
#   reason: port_not_allowed
#   rule: airlock.network.port_not_allowed
#   message: Destination %s is on a port that no allow entry of profile %q lists.
deny contains violation(rego.metadata.rule(), destination_label, profile_name) if {
	profile_known
	port_unlisted
}

# METADATA
# title: Opaque tunnel
# description: |
#   The tunnel carries neither TLS nor HTTP and no entry with raw_tcp: true
#   matches its host and port.
# scope: rule
# custom:
#   reason: opaque_tunnel
#   rule: airlock.network.opaque_tunnel
#   message: >-
#     Destination %s carries neither TLS nor HTTP and profile %q has no raw_tcp
#     entry for it.
deny contains violation(rego.metadata.rule(), destination_label, profile_name) if {
	profile_known
	kind == "tcp"
	count(candidate_indices) == 0
}
