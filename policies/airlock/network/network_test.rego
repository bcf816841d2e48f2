package airlock.network_test

import data.airlock.network

# Fixture profiles, independent of the shipped profiles/*/data.json.
profiles := {
	"test": {"allow": [
		{"host": "example.com", "ports": [443], "methods": ["GET", "HEAD"]},
		{"host": "*.example.org", "ports": [443, 8443]},
		{"host": "10.0.0.0/8", "ports": [8080], "methods": ["*"], "allow_private": true},
		{"host": "203.0.113.7", "ports": [443]},
		{"host": "2001:db8::/32", "ports": [443]},
		{"host": "::1", "ports": [9000], "allow_private": true},
		{"host": "api.example.net"},
		{"host": "internal.example.net", "allow_private": true},
		{"host": "169.254.169.254", "ports": [80]},
		{"host": "localhost", "ports": [3000]},
		{"host": "www.example.org", "methods": ["get"]},
		{"host": "10.9.9.9", "ports": [8080], "methods": ["GET"]},
	]},
	"empty": {"allow": []},
}

http(host, port, method) := {
	"kind": "http",
	"task": {"id": "t-1", "tenant": "default", "agent": "claude-1", "profile": "test"},
	"destination": {"host": host, "port": port, "addresses": []},
	"request": {"method": method, "scheme": "https", "path": "/"},
}

resolved(host, port, addresses) := {
	"kind": "http",
	"task": {"profile": "test"},
	"destination": {"host": host, "port": port, "addresses": addresses},
	"request": {"method": "GET"},
}

connect(host, port) := {
	"kind": "connect",
	"task": {"profile": "test"},
	"destination": {"host": host, "port": port},
}

allowed(inp) if {
	network.allow with input as inp with data.airlock.profiles as profiles
}

indices(inp) := result if {
	result := network.allowed_indices with input as inp with data.airlock.profiles as profiles
}

denied_for(inp) := {v.reason | some v in violations} if {
	violations := network.deny with input as inp with data.airlock.profiles as profiles
}

# --- exact names ----------------------------------------------------------

test_exact_host_allowed if {
	allowed(http("example.com", 443, "GET"))
	indices(http("example.com", 443, "GET")) == [0]
}

test_exact_host_other_name_denied if {
	not allowed(http("www.example.com", 443, "GET"))
	denied_for(http("www.example.com", 443, "GET")) == {"destination_not_allowed"}
}

test_entry_host_is_lowercased_and_trailing_dot_stripped if {
	network.entry_host({"host": "API.Example.NET."}) == "api.example.net"
	network.host_matches(network.entry_host({"host": "API.Example.NET"}), "api.example.net")
}

# --- wildcards ------------------------------------------------------------

test_wildcard_subdomain_allowed if {
	allowed(http("a.example.org", 443, "POST"))
	allowed(http("a.b.c.example.org", 8443, "DELETE"))
}

test_wildcard_apex_denied if {
	not allowed(http("example.org", 443, "GET"))
	denied_for(http("example.org", 443, "GET")) == {"destination_not_allowed"}
}

test_wildcard_suffix_trick_denied if {
	not allowed(http("evilexample.org", 443, "GET"))
	not allowed(http("example.org.evil.com", 443, "GET"))
	not network.host_matches("*.example.com", "evilexample.com")
	not network.host_matches("*.example.com", "example.com")
	network.host_matches("*.example.com", "x.example.com")
}

test_wildcard_never_matches_ip_literal if {
	not network.host_matches("*.0.0.1", "127.0.0.1")
}

# --- IP and CIDR entries --------------------------------------------------

test_cidr_entry_allows_ip_inside if {
	allowed(http("10.1.2.3", 8080, "PUT"))
	not allowed(http("11.1.2.3", 8080, "PUT"))
}

test_cidr_entry_does_not_match_names if {
	not network.host_matches("10.0.0.0/8", "10.example.com")
}

test_bare_ip_entry_is_single_address if {
	allowed(http("203.0.113.7", 443, "GET"))
	not allowed(http("203.0.113.8", 443, "GET"))
}

test_ipv6_cidr_entry if {
	allowed(http("2001:db8::1", 443, "GET"))
	allowed(http("2001:db8:ffff::1", 443, "GET"))
	not allowed(http("2001:db9::1", 443, "GET"))
}

test_ipv6_bare_entry_with_allow_private if {
	allowed(connect("::1", 9000))
	not allowed(connect("::2", 9000))
}

test_is_ip if {
	network.is_ip("1.2.3.4")
	network.is_ip("::1")
	network.is_ip("fd00:ec2::254")
	not network.is_ip("10.0.0.0/8")
	not network.is_ip("example.com")
	not network.is_ip("")
}

# --- ports and methods ----------------------------------------------------

test_port_mismatch_denied if {
	not allowed(http("example.com", 8443, "GET"))
	denied_for(http("example.com", 8443, "GET")) == {"destination_not_allowed"}
}

test_missing_ports_defaults_to_443 if {
	allowed(http("api.example.net", 443, "GET"))
	not allowed(http("api.example.net", 80, "GET"))
}

test_method_mismatch_denied if {
	not allowed(http("example.com", 443, "POST"))
	denied_for(http("example.com", 443, "POST")) == {"destination_not_allowed"}
}

test_method_case_insensitive if {
	allowed(http("example.com", 443, "head"))
	allowed(http("www.example.org", 443, "GET"))
	network.method_matches({"methods": ["get"]}, "GET", "http")
}

test_missing_methods_and_star_mean_any if {
	network.method_matches({}, "PATCH", "http")
	network.method_matches({"methods": null}, "PATCH", "http")
	network.method_matches({"methods": ["*"]}, "PATCH", "http")
	not network.method_matches({"methods": []}, "PATCH", "http")
}

test_connect_ignores_methods if {
	allowed(connect("example.com", 443))
	not allowed(connect("example.com", 8443))
}

test_http_without_method_denied_when_methods_listed if {
	inp := json.remove(http("example.com", 443, "GET"), ["request/method"])
	not allowed(inp)
	denied_for(inp) == {"destination_not_allowed"}
}

test_all_matching_entries_are_listed if {
	indices(http("www.example.org", 443, "GET")) == [1, 10]
	indices(http("www.example.org", 443, "POST")) == [1]
}

# --- private destinations -------------------------------------------------

test_private_via_literal_metadata_ip if {
	inp := http("169.254.169.254", 80, "GET")
	not allowed(inp)
	denied_for(inp) == {"private_destination"}
}

test_private_via_resolved_address if {
	inp := resolved("api.example.net", 443, ["93.184.216.34", "10.0.0.5"])
	not allowed(inp)
	denied_for(inp) == {"private_destination"}
	allowed(resolved("api.example.net", 443, ["93.184.216.34"]))
}

test_private_localhost_name if {
	inp := http("localhost", 3000, "GET")
	not allowed(inp)
	denied_for(inp) == {"private_destination"}
}

test_private_only_when_an_entry_matches if {
	denied_for(http("app.localhost", 443, "GET")) == {"destination_not_allowed"}
	denied_for(http("192.168.1.1", 443, "GET")) == {"destination_not_allowed"}
}

test_allow_private_true if {
	allowed(resolved("internal.example.net", 443, ["10.0.0.5"]))
	allowed(http("10.1.2.3", 8080, "GET"))
}

test_allow_private_only_from_entries_that_set_it if {
	# 10.9.9.9:8080 GET matches entry 2 (allow_private) and entry 11 (not).
	indices(http("10.9.9.9", 8080, "GET")) == [2]
}

test_private_destination_cases if {
	every host in [
		"127.0.0.1", "10.20.30.40", "172.16.0.1", "172.31.255.255", "192.168.0.1",
		"169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255",
		"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "fd00:ec2::254",
		"::ffff:10.0.0.1", "localhost", "app.localhost", "metadata.google.internal",
		"metadata", "instance-data",
	] {
		network.destination_private with input as {"destination": {"host": host}}
	}
}

test_public_destination_cases if {
	public := ["93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700::1", "example.com", "localhost.example.com"]
	every host in public {
		not network.destination_private with input as {"destination": {"host": host, "addresses": ["8.8.8.8"]}}
	}
}

test_private_ignores_non_ip_addresses if {
	inp := {"destination": {"host": "a.example", "addresses": ["nope", 7, null]}}
	not network.destination_private with input as inp
}

# --- profiles and missing input -------------------------------------------

test_unknown_profile if {
	inp := object.union(http("example.com", 443, "GET"), {"task": {"profile": "nope"}})
	not allowed(inp)
	denied_for(inp) == {"unknown_profile"}
}

test_missing_profile_is_unknown if {
	inp := json.remove(http("example.com", 443, "GET"), ["task/profile"])
	not allowed(inp)
	denied_for(inp) == {"unknown_profile"}
}

test_empty_profile_denies_everything if {
	inp := object.union(http("example.com", 443, "GET"), {"task": {"profile": "empty"}})
	not allowed(inp)
	denied_for(inp) == {"destination_not_allowed"}
}

test_empty_input_denied_not_undefined if {
	network.allow == false with input as {} with data.airlock.profiles as profiles
	denied_for({}) == {"unknown_profile"}
}

test_missing_destination_denied if {
	inp := json.remove(http("example.com", 443, "GET"), ["destination"])
	network.allow == false with input as inp with data.airlock.profiles as profiles
	denied_for(inp) == {"destination_not_allowed"}
	network.destination_label == "(unknown destination)" with input as inp
}

test_mistyped_fields_denied if {
	inp := {
		"kind": 7,
		"task": {"profile": "test"},
		"destination": {"host": ["example.com"], "port": "443", "addresses": "10.0.0.1"},
		"request": {"method": 1},
	}
	network.allow == false with input as inp with data.airlock.profiles as profiles
	denied_for(inp) == {"destination_not_allowed"}
}

test_malformed_profile_data_denied if {
	bad := {"x": {"allow": "everything"}, "y": "nope", "z": {"allow": [7, {"ports": [443]}]}}
	every name in ["x", "y", "z"] {
		inp := {"task": {"profile": name}, "destination": {"host": "a.b", "port": 443}}
		network.allow == false with input as inp with data.airlock.profiles as bad
	}
}

test_missing_profiles_data_denied if {
	inp := http("example.com", 443, "GET")
	violations := network.deny with input as inp with data.airlock.profiles as "not an object"
	{v.reason | some v in violations} == {"unknown_profile"}
	network.allow == false with input as inp with data.airlock.profiles as "not an object"
}

test_destination_label if {
	network.destination_label == "example.com:443" with input as http("example.com", 443, "GET")
	network.destination_label == "[::1]:9000" with input as http("::1", 9000, "GET")
}

# --- DNS questions (transparent mode) ---------------------------------------

dns(host, addresses) := {
	"kind": "dns",
	"task": {"profile": "test"},
	"destination": {"host": host, "port": 0, "addresses": addresses},
	"request": {"method": ""},
}

test_dns_matches_host_whatever_its_ports_and_methods if {
	allowed(dns("example.com", []))
	allowed(dns("www.example.org", []))
	allowed(dns("api.example.net", []))
	indices(dns("www.example.org", [])) == [1, 10]
}

test_dns_unknown_name_denied if {
	inp := dns("exfil.attacker.example", [])
	not allowed(inp)
	denied_for(inp) == {"destination_not_allowed"}
	network.destination_label == "exfil.attacker.example" with input as inp
}

test_dns_private_answer_needs_allow_private if {
	inp := dns("api.example.net", ["10.0.0.5"])
	not allowed(inp)
	denied_for(inp) == {"private_destination"}
	allowed(dns("internal.example.net", ["10.0.0.5"]))
}

test_dns_does_not_widen_http if {
	not allowed(http("example.com", 8443, "GET"))
	not allowed(http("example.com", 443, "POST"))
}
