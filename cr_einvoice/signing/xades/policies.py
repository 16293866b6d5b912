"""Signature policies Hacienda has published, by era (informational: a verifier warns, never fails)."""

from __future__ import annotations

from dataclasses import dataclass

from cr_einvoice.signing.xades.algorithms import DigestAlgorithm

__all__ = ["KNOWN_POLICIES", "V44_POLICY_DIGEST", "V44_POLICY_URL", "KnownPolicy", "match_policy"]

#: The v4.4 policy document (Anexo 2) and its SHA-256 (base64).
V44_POLICY_URL = (
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/"
    "Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_para_efectos_tributarios.pdf"
)
V44_POLICY_DIGEST = "DWxin1xWOeI8OuWQXazh4VjLWAaCLAA954em7DMh0h8="


@dataclass(frozen=True, slots=True)
class KnownPolicy:
    """A policy identifier seen in Hacienda's documentation; ``digest`` None = any digest (a known quirk)."""

    era: str
    identifier: str
    digest_algorithm: DigestAlgorithm | None
    digest: str | None


_V43_PATH = (
    "/ATV/ComprobanteElectronico/docs/esquemas/2016/v4.3/"
    "Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_para_efectos_tributarios.pdf"
)

KNOWN_POLICIES: tuple[KnownPolicy, ...] = (
    KnownPolicy("v4.4", V44_POLICY_URL, DigestAlgorithm.SHA256, V44_POLICY_DIGEST),
    KnownPolicy(
        "v4.3",
        "https://www.hacienda.go.cr" + _V43_PATH,
        DigestAlgorithm.SHA256,
        "0h7Q3dFHhu0bHbcZEgVc07cEcDlquUeG08HG6Iototo=",
    ),
    KnownPolicy(
        "v4.3",
        "https://atv.hacienda.go.cr" + _V43_PATH,
        DigestAlgorithm.SHA256,
        "0h7Q3dFHhu0bHbcZEgVc07cEcDlquUeG08HG6Iototo=",
    ),
    KnownPolicy(
        "v4.1/v4.2",
        "https://tribunet.hacienda.go.cr/docs/esquemas/2016/v4/Resolucion%20Comprobantes%20Electronicos%20%20DGT-R-48-2016.pdf",
        DigestAlgorithm.SHA1,
        "V8lVVNGDCPen6VELRD1Ja8HARFk=",
    ),
    # Hacienda's example of the time: SHA-256 named, but the value is base64 of a hex string.
    KnownPolicy(
        "v4.1 (example)",
        "https://tribunet.hacienda.go.cr/docs/esquemas/2016/v4.1/Resolucion_Comprobantes_Electronicos_DGT-R-48-2016.pdf",
        None,
        None,
    ),
)


def match_policy(
    identifier: str | None, algorithm: str | None, digest: str | None
) -> tuple[bool, str | None]:
    """(known, era): whether identifier + digest match a published policy, and which era it names."""
    if not identifier:
        return False, None
    ident = identifier.strip()
    for policy in KNOWN_POLICIES:
        if policy.identifier != ident:
            continue
        if policy.digest is None:
            return True, policy.era
        same_alg = policy.digest_algorithm is None or algorithm == policy.digest_algorithm.value
        return same_alg and (digest or "").strip() == policy.digest, policy.era
    return False, None
