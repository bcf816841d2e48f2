package airlock.credentials_test

import data.airlock.credentials

profiles := {
	"dev": {"allow": [{"host": "github.com", "ports": [443]}, {"host": "evil.example", "ports": [443]}]},
	"narrow": {"allow": [{"host": "github.com", "ports": [443]}], "credentials": ["other"]},
}

req(profile, host) := {
	"kind": "http",
	"task": {"profile": profile},
	"destination": {"host": host, "port": 443, "addresses": []},
	"request": {"method": "GET"},
	"credentials": [{"name": "gh", "hosts": ["github.com", "*.github.com"]}],
}

test_injected_for_its_host if {
	credentials.allowed == ["gh"] with input as req("dev", "github.com")
		with data.airlock.profiles as profiles
	credentials.refused == [] with input as req("dev", "github.com")
		with data.airlock.profiles as profiles
}

test_refused_for_another_allowed_host if {
	credentials.allowed == [] with input as req("dev", "evil.example")
		with data.airlock.profiles as profiles
	credentials.refused == ["gh"] with input as req("dev", "evil.example")
		with data.airlock.profiles as profiles
}

test_refused_when_request_denied if {
	credentials.refused == ["gh"] with input as req("dev", "api.github.com")
		with data.airlock.profiles as profiles
}

test_profile_can_narrow if {
	credentials.refused == ["gh"] with input as req("narrow", "github.com")
		with data.airlock.profiles as profiles
}

test_no_credentials_is_defined if {
	credentials.allowed == [] with input as {}
	credentials.refused == [] with input as {}
}
