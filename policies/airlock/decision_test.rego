package airlock_test

import data.airlock

profiles := {
	"test": {"allow": [
		{"host": "example.com", "ports": [443], "methods": ["GET"]},
		{"host": "*.example.com", "ports": [443]},
		{"host": "example.com", "ports": [443]},
		{"host": "169.254.169.254", "ports": [80]},
	]},
}

request(profile, host, port, method) := {
	"kind": "http",
	"task": {"id": "t-1", "tenant": "default", "agent": "claude-1", "profile": profile},
	"destination": {"host": host, "port": port, "addresses": []},
	"request": {"method": method, "scheme": "https", "path": "/a/b"},
}

decide(inp) := d if {
	d := airlock.decision with input as inp with data.airlock.profiles as profiles
}

test_allow_decision_shape if {
	decide(request("test", "example.com", 443, "GET")) == {
		"allow": true,
		"reasons": ["allowed"],
		"rules": ["profile/test/allow/0", "profile/test/allow/2"],
		"messages": ["Destination example.com:443 is allowed by profile \"test\" (allow entry 0)."],
		"profile": "test",
		"secrets": {"outbound": "redact", "inbound": "redact"},
		"credentials": {"inject": [], "refuse": []},
	}
}

test_allow_rules_name_matching_entries_only if {
	decide(request("test", "a.example.com", 443, "POST")).rules == ["profile/test/allow/1"]
	decide(request("test", "example.com", 443, "POST")).rules == ["profile/test/allow/2"]
}

test_destination_not_allowed_decision if {
	decide(request("test", "example.net", 443, "GET")) == {
		"allow": false,
		"reasons": ["destination_not_allowed"],
		"rules": ["airlock.network.destination_not_allowed"],
		"messages": ["Destination example.net:443 is not in the allow list of profile \"test\"."],
		"profile": "test",
		"secrets": {"outbound": "redact", "inbound": "redact"},
		"credentials": {"inject": [], "refuse": []},
	}
}

test_private_destination_decision if {
	d := decide(request("test", "169.254.169.254", 80, "GET"))
	d.allow == false
	d.reasons == ["private_destination"]
	d.rules == ["airlock.network.private_destination"]
	count(d.messages) == 1
	startswith(d.messages[0], "Destination 169.254.169.254:80 is or resolves to a private")
}

test_unknown_profile_decision if {
	d := decide(request("nope", "example.com", 443, "GET"))
	d.allow == false
	d.reasons == ["unknown_profile"]
	d.rules == ["airlock.network.unknown_profile"]
	d.messages == ["Destination example.com:443 is denied because the task profile \"nope\" is not defined."]
	d.profile == "nope"
}

test_empty_input_decision_is_defined_deny if {
	decide({}) == {
		"allow": false,
		"reasons": ["unknown_profile"],
		"rules": ["airlock.network.unknown_profile"],
		"messages": ["Destination (unknown destination) is denied because the task profile \"\" is not defined."],
		"profile": "",
		"secrets": {"outbound": "redact", "inbound": "redact"},
		"credentials": {"inject": [], "refuse": []},
	}
}

test_non_object_input_decision_is_defined_deny if {
	every inp in [[], "x", 1, null, {"task": "x", "destination": 5, "request": []}] {
		airlock.decision.allow == false with input as inp
	}
}

test_most_specific_reason_first if {
	# All three reasons at once cannot happen with real input; mock the deny set
	# to pin the ordering the proxy relies on (it shows reasons[0] and rules[0]).
	mocked := {
		{"reason": "destination_not_allowed", "rule": "r.dna", "message": "m.dna"},
		{"reason": "private_destination", "rule": "r.pd", "message": "m.pd"},
		{"reason": "unknown_profile", "rule": "r.up", "message": "m.up"},
	}
	d := airlock.decision with input as {} with data.airlock.network.deny as mocked
	d.allow == false
	d.reasons == ["unknown_profile", "private_destination", "destination_not_allowed"]
	d.rules == ["r.up", "r.pd", "r.dna"]
	d.messages == ["m.up", "m.pd", "m.dna"]
}

test_deny_wins_over_matching_entry if {
	mocked := {{"reason": "private_destination", "rule": "r.pd", "message": "m.pd"}}
	d := airlock.decision with input as request("test", "example.com", 443, "GET")
		with data.airlock.profiles as profiles
		with data.airlock.network.deny as mocked
	d.allow == false
	d.reasons == ["private_destination"]
}

test_rule_ids_come_from_metadata if {
	d := decide(request("test", "example.net", 443, "GET"))
	every rule_id in d.rules {
		startswith(rule_id, "airlock.network.")
	}
}

# --- shipped profiles (policies/airlock/profiles/*/data.json) ---------------

test_shipped_default_profile_denies_everything if {
	every host in ["pypi.org", "example.com", "10.0.0.1"] {
		d := airlock.decision with input as request("default", host, 443, "GET")
		d.allow == false
		d.reasons == ["destination_not_allowed"]
	}
}

test_shipped_registries_profile if {
	ok := [
		["pypi.org", "GET"], ["files.pythonhosted.org", "GET"], ["registry.npmjs.org", "HEAD"],
		["github.com", "GET"], ["github.com", "POST"], ["raw.githubusercontent.com", "GET"],
		["objects.githubusercontent.com", "GET"], ["proxy.golang.org", "GET"],
	]
	every pair in ok {
		airlock.decision.allow with input as request("registries", pair[0], 443, pair[1])
	}
	denied := [
		["pypi.org", 443, "POST"], ["pypi.org", 80, "GET"], ["githubusercontent.com", 443, "GET"],
		["evilgithubusercontent.com", 443, "GET"], ["example.com", 443, "GET"],
	]
	every triple in denied {
		not airlock.decision.allow with input as request("registries", triple[0], triple[1], triple[2])
	}
}

test_shipped_registries_profile_rejects_private_resolution if {
	inp := object.union(request("registries", "pypi.org", 443, "GET"), {"destination": {"addresses": ["127.0.0.1"]}})
	d := airlock.decision with input as inp
	d.allow == false
	d.reasons == ["private_destination"]
}

test_shipped_registries_connect if {
	inp := {"kind": "connect", "task": {"profile": "registries"}, "destination": {"host": "github.com", "port": 443}}
	airlock.decision.allow with input as inp
}
