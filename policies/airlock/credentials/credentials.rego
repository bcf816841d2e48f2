# METADATA
# title: Airlock credential injection
# description: |
#   Which of the credentials whose placeholders a request carries may be injected:
#   input.credentials is a list of {"name": NAME, "hosts": [PATTERN, ...]} (the
#   credential's own allowed destinations). A credential is injected only when the
#   request is allowed by the network policy AND the destination host matches one of
#   its host patterns (exact name, "*." suffix, IP or CIDR, as in profiles). A profile
#   may narrow further with data.airlock.profiles[NAME].credentials = [NAME, ...].
package airlock.credentials

import data.airlock.network

default requested := []

requested := [c | some c in input.credentials; is_string(c.name)] if is_array(input.credentials)

# Names the profile lets the task use at all; no list means every granted credential.
default profile_allows(_) := false

profile_allows(name) if {
	is_string(name)
	not profile_lists_credentials
}

profile_allows(name) if name in network.profiles[network.profile_name].credentials

profile_lists_credentials if is_array(network.profiles[network.profile_name].credentials)

host_allowed(c) if {
	some pattern in c.hosts
	is_string(pattern)
	network.host_matches(trim_suffix(lower(pattern), "."), network.host)
}

allowed := sort([c.name |
	some c in requested
	network.allow
	profile_allows(c.name)
	host_allowed(c)
])

refused := sort([c.name |
	some c in requested
	not c.name in allowed
])
