# METADATA
# title: Airlock secret handling
# description: |
#   What the proxy does when its redaction engine finds a secret, per direction, from
#   data.airlock.profiles[NAME].secrets = {"outbound": MODE, "inbound": MODE}. MODE is
#   "redact" (replace the secret with a marker and pass), "block" (refuse with 403) or
#   "alert" (pass unchanged, record the finding). Both default to "redact"; a value that
#   is not one of the three modes counts as "block" (fail closed on a typo).
package airlock.secrets

modes := {"redact", "block", "alert"}

default profile_name := ""

profile_name := p if {
	p := input.task.profile
	is_string(p)
}

default settings := {}

settings := s if {
	s := data.airlock.profiles[profile_name].secrets
	is_object(s)
}

outbound := mode("outbound")

inbound := mode("inbound")

mode(direction) := "redact" if not settings[direction]

mode(direction) := m if {
	m := settings[direction]
	m in modes
}

mode(direction) := "block" if {
	m := settings[direction]
	not m in modes
}
