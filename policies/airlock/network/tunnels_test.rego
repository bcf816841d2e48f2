package airlock.network_test

import data.airlock.network

tun_profiles := {
	"tun": {"allow": [
		{"host": "example.com", "ports": [443, 8443]},
		{"host": "db.example.net", "ports": [5432], "raw_tcp": true},
		{"host": "10.20.0.5", "ports": [5432], "raw_tcp": true, "allow_private": true},
		{"host": "cache.example.net", "ports": [6379], "raw_tcp": true},
		{"host": "mail.example.net", "ports": [25], "raw_tcp": "yes"},
		{"host": "git.example.net", "ports": [2222], "methods": ["GET"], "raw_tcp": true},
	]},
	"empty": {"allow": []},
}

tun_input(kind, host, port, addresses) := {
	"kind": kind,
	"task": {"profile": "tun"},
	"destination": {"host": host, "port": port, "addresses": addresses},
	"request": {"method": "GET"},
}

tun_allowed(inp) if {
	network.allow with input as inp with data.airlock.profiles as tun_profiles
}

tun_denied(inp) := {v.reason | some v in violations} if {
	violations := network.deny with input as inp with data.airlock.profiles as tun_profiles
}

# --- ports ----------------------------------------------------------------

test_profile_ports_is_the_union_of_entry_ports if {
	ports := network.profile_ports with input as tun_input("http", "example.com", 443, [])
		with data.airlock.profiles as tun_profiles
	ports == {443, 8443, 5432, 6379, 25, 2222}
}

test_connect_to_an_unlisted_port_is_port_not_allowed if {
	inp := tun_input("connect", "example.com", 22, [])
	not tun_allowed(inp)
	tun_denied(inp) == {"port_not_allowed"}
}

test_http_to_an_unlisted_port_is_port_not_allowed if {
	tun_denied(tun_input("http", "anything.example", 9999, [])) == {"port_not_allowed"}
}

test_listed_port_of_another_host_is_destination_not_allowed if {
	tun_denied(tun_input("http", "example.com", 5432, [])) == {"destination_not_allowed"}
	tun_denied(tun_input("connect", "other.example", 443, [])) == {"destination_not_allowed"}
}

test_connect_to_a_listed_port_is_decided_on_host_and_port if {
	tun_allowed(tun_input("connect", "example.com", 8443, []))
}

test_empty_profile_is_destination_not_allowed_not_port if {
	inp := object.union(tun_input("connect", "example.com", 22, []), {"task": {"profile": "empty"}})
	tun_denied(inp) == {"destination_not_allowed"}
}

test_port_not_allowed_comes_before_destination_not_allowed if {
	d := data.airlock.decision with input as tun_input("connect", "evil.example", 22, [])
		with data.airlock.profiles as tun_profiles
	d.reasons == ["port_not_allowed"]
	d.rules == ["airlock.network.port_not_allowed"]
	d.messages == [`Destination evil.example:22 is on a port that no allow entry of profile "tun" lists.`]
}

# --- opaque tunnels (kind tcp) --------------------------------------------

test_raw_tcp_entry_allows_an_opaque_tunnel if {
	inp := tun_input("tcp", "db.example.net", 5432, ["203.0.113.9"])
	tun_allowed(inp)
	network.allowed_indices == [1] with input as inp with data.airlock.profiles as tun_profiles
}

test_entry_without_raw_tcp_refuses_an_opaque_tunnel if {
	inp := tun_input("tcp", "example.com", 443, ["203.0.113.9"])
	not tun_allowed(inp)
	tun_denied(inp) == {"opaque_tunnel"}
}

test_raw_tcp_must_be_true_not_truthy if {
	tun_denied(tun_input("tcp", "mail.example.net", 25, [])) == {"opaque_tunnel"}
}

test_raw_tcp_entry_is_bound_to_its_port if {
	tun_denied(tun_input("tcp", "db.example.net", 5433, [])) == {"opaque_tunnel"}
}

test_raw_tcp_to_a_private_address_needs_allow_private if {
	tun_denied(tun_input("tcp", "cache.example.net", 6379, ["127.0.0.1"])) == {"private_destination"}
	tun_allowed(tun_input("tcp", "10.20.0.5", 5432, ["10.20.0.5"]))
}

test_raw_tcp_entry_also_serves_http if {
	tun_allowed(tun_input("http", "db.example.net", 5432, []))
}

test_nat64_embedded_private_address_is_private if {
	# The gateway adds the IPv4 address embedded in 64:ff9b::/96 to the addresses.
	inp := tun_input("http", "example.com", 443, ["64:ff9b::a9fe:a9fe", "169.254.169.254"])
	tun_denied(inp) == {"private_destination"}
}

test_raw_tcp_ignores_methods if {
	tun_allowed(tun_input("tcp", "git.example.net", 2222, []))
	post := object.union(tun_input("http", "git.example.net", 2222, []), {"request": {"method": "POST"}})
	not tun_allowed(post)
}
