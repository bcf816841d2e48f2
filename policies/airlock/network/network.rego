# METADATA
# title: Airlock network egress rules
# description: |
#   Matches a normalised egress request (input.destination, input.request) against the
#   allow list of the task's profile (data.airlock.profiles[NAME].allow) and produces
#   the allow flag, the matching entry indices and the deny violations. Every helper
#   has a default, so a missing or mistyped input field leads to a deny, never to an
#   undefined decision. The only entrypoint is data.airlock.decision.
package airlock.network

# Ranges treated as private: loopback, RFC 1918, link-local (cloud metadata),
# CGNAT, "this network", multicast, broadcast, IPv6 loopback/unspecified/ULA/
# link-local/multicast and the AWS IPv6 metadata endpoint.
private_cidrs := [
	"127.0.0.0/8",
	"10.0.0.0/8",
	"172.16.0.0/12",
	"192.168.0.0/16",
	"169.254.0.0/16",
	"100.64.0.0/10",
	"0.0.0.0/8",
	"224.0.0.0/4",
	"255.255.255.255/32",
	"::1/128",
	"::/128",
	"fc00::/7",
	"fe80::/10",
	"ff00::/8",
	"fd00:ec2::254/128",
]

# Host names that always mean "this machine" or a cloud metadata service.
private_names := {"localhost", "metadata.google.internal", "metadata", "instance-data"}

# Priority of each deny reason: the lowest comes first in the decision.
reason_priority := {
	"unknown_profile": 0,
	"private_destination": 1,
	"port_not_allowed": 2,
	"opaque_tunnel": 2,
	"destination_not_allowed": 3,
}

# ---------------------------------------------------------------------------
# Normalised input. Each value has a default so nothing below goes undefined.
# ---------------------------------------------------------------------------

default kind := ""

kind := k if {
	k := input.kind
	is_string(k)
}

default profile_name := ""

profile_name := p if {
	p := input.task.profile
	is_string(p)
}

default host := ""

host := lower(h) if {
	h := input.destination.host
	is_string(h)
}

default port := -1

port := p if {
	p := input.destination.port
	is_number(p)
}

default method := ""

method := upper(m) if {
	m := input.request.method
	is_string(m)
}

# Resolved addresses: only the string elements of input.destination.addresses.
addresses := [lower(a) | some a in _raw_addresses; is_string(a)]

default _raw_addresses := []

_raw_addresses := a if {
	a := input.destination.addresses
	is_array(a)
}

# ---------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------

default profiles := {}

profiles := p if {
	p := data.airlock.profiles
	is_object(p)
}

default profile_known := false

profile_known if {
	profile_name != ""
	is_object(profiles[profile_name])
}

default entries := []

entries := e if {
	profile_known
	e := profiles[profile_name].allow
	is_array(e)
}

# ---------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------

# Indices of entries that match host, port and (for kind http) method. A "dns"
# question (may this name be resolved for the task?) matches on the host alone.
candidate_indices := sort([i |
	some i, entry in entries
	entry_matches(entry, host, port, method, kind)
])

# Candidates that may be used: the destination is public or the entry allows private.
allowed_indices := [i |
	some i in candidate_indices
	_private_ok(entries[i], destination_private)
]

entry_matches(entry, dest_host, dest_port, req_method, req_kind) if {
	host_matches(entry_host(entry), dest_host)
	kind_matches(entry, req_kind)
	port_matches(entry, dest_port, req_kind)
	method_matches(entry, req_method, req_kind)
}

# A DNS question names no port: any entry for the host lets the name resolve.
port_matches(_, _, "dns")

port_matches(entry, dest_port, req_kind) if {
	req_kind != "dns"
	dest_port in entry_ports(entry)
}

default entry_host(_) := ""

entry_host(entry) := trim_suffix(lower(h), ".") if {
	h := entry.host
	is_string(h)
}

default entry_ports(_) := [443]

entry_ports(entry) := p if {
	p := entry.ports
	is_array(p)
}

# An IP literal: "1.2.3.4" or "::1" (a CIDR or a name is not). /32 is a valid
# prefix length for both IPv4 and IPv6, so one check covers both families.
is_ip(value) if net.cidr_is_valid(concat("/", [value, "32"]))

# A bare IP as a single-address prefix, a CIDR as it is.
as_cidr(value) := value if {
	not is_ip(value)
	net.cidr_is_valid(value)
}

as_cidr(value) := concat("/", [value, "32"]) if {
	is_ip(value)
	not contains(value, ":")
}

as_cidr(value) := concat("/", [value, "128"]) if {
	is_ip(value)
	contains(value, ":")
}

# Exact name (both sides already lower-case).
host_matches(pattern, name) if {
	pattern != ""
	not as_cidr(pattern)
	not startswith(pattern, "*.")
	pattern == name
}

# "*.example.com": any subdomain at any depth, not the apex, never an IP literal.
host_matches(pattern, name) if {
	startswith(pattern, "*.")
	suffix := substring(pattern, 1, -1)
	count(suffix) > 1
	not is_ip(name)
	endswith(name, suffix)
	count(name) > count(suffix)
}

# IP or CIDR entry: the destination host is an IP literal inside it.
host_matches(pattern, name) if {
	is_ip(name)
	net.cidr_contains(as_cidr(pattern), name)
}

# A CONNECT check happens before the method is known; a DNS question has none.
method_matches(_, _, "connect")

method_matches(_, _, "dns")

# No methods list (missing or null) means any method.
method_matches(entry, _, req_kind) if {
	req_kind != "connect"
	object.get(entry, "methods", null) == null
}

method_matches(entry, _, req_kind) if {
	req_kind != "connect"
	"*" in entry.methods
}

method_matches(entry, req_method, req_kind) if {
	req_kind != "connect"
	req_method != ""
	some m in entry.methods
	is_string(m)
	upper(m) == req_method
}

_private_ok(_, false)

_private_ok(entry, true) if entry.allow_private == true

# ---------------------------------------------------------------------------
# Private destinations
# ---------------------------------------------------------------------------

default destination_private := false

destination_private if private_address(host, private_cidrs)

destination_private if {
	some address in addresses
	private_address(address, private_cidrs)
}

destination_private if host in private_names

destination_private if endswith(host, ".localhost")

private_address(address, cidrs) if {
	is_ip(address)
	some cidr in cidrs
	net.cidr_contains(cidr, address)
}

# ---------------------------------------------------------------------------
# Decision parts
# ---------------------------------------------------------------------------

# "host:port" for messages, "[v6]:port" for IPv6 literals.
default destination_label := "(unknown destination)"

destination_label := sprintf("%s:%v", [host, port]) if {
	host != ""
	kind != "dns"
	not contains(host, ":")
}

destination_label := sprintf("[%s]:%v", [host, port]) if {
	host != ""
	kind != "dns"
	contains(host, ":")
}

destination_label := host if {
	host != ""
	kind == "dns"
}

default allow := false

allow if {
	profile_known
	count(allowed_indices) > 0
	count(deny) == 0
}

# METADATA
# title: Unknown profile
# description: The task names a profile that is not defined in data.airlock.profiles.
# scope: rule
# custom:
#   reason: unknown_profile
#   rule: airlock.network.unknown_profile
#   message: Destination %s is denied because the task profile %q is not defined.
deny contains violation(rego.metadata.rule(), destination_label, profile_name) if {
	not profile_known
}

# METADATA
# title: Private destination
# description: |
#   Some entries of the profile match host, port and method, but the destination is
#   (or resolves to) a private, loopback, link-local or metadata address and none of
#   those entries sets allow_private.
# scope: rule
# custom:
#   reason: private_destination
#   rule: airlock.network.private_destination
#   message: >-
#     Destination %s is or resolves to a private, loopback, link-local or metadata
#     address and profile %q has no allow_private entry for it.
deny contains violation(rego.metadata.rule(), destination_label, profile_name) if {
	profile_known
	destination_private
	count(candidate_indices) > 0
	count(allowed_indices) == 0
}

# METADATA
# title: Destination not allowed
# description: No entry of the profile matches the destination host, port and method.
# scope: rule
# custom:
#   reason: destination_not_allowed
#   rule: airlock.network.destination_not_allowed
#   message: Destination %s is not in the allow list of profile %q.
deny contains violation(rego.metadata.rule(), destination_label, profile_name) if {
	profile_known
	kind != "tcp"
	not port_unlisted
	count(candidate_indices) == 0
}

violation(annotation, label, profile) := {
	"reason": annotation.custom.reason,
	"rule": annotation.custom.rule,
	"message": sprintf(annotation.custom.message, [label, profile]),
}

# Deny violations ordered most specific first.
ordered_violations := [v |
	some entry in sort([[reason_priority[x.reason], x.reason, x.rule, x.message] | some x in deny])
	v := {"reason": entry[1], "rule": entry[2], "message": entry[3]}
]
