"""Complete, realistic example documents in the JSON input format, one per voucher type.

All names, identification numbers and claves are made up. The examples carry no numbering (clave,
NumeroConsecutivo, FechaEmision): ``cr-einvoice build`` or the issuing pipeline assigns it. Totals are not
in the JSON: the library computes them.

* ``fe``  -- Factura electrónica: a service billed by the hour, two laptops with a volume discount given as a
  percentage, a promotional discount, a 1 % reduced-rate product.
* ``nd``  -- Nota de débito: late-payment interest (OtrosCargos 10, no lines) on an FE.
* ``nc``  -- Nota de crédito: return of one laptop of an FE (CodigoReferencia 06).
* ``te``  -- Tiquete: a restaurant bill, 10 % service charge, cash plus SINPE Móvil.
* ``fec`` -- Factura electrónica de compra: a cloud subscription in USD bought from a non-domiciled supplier
  (identification 05, reference TipoDocIR 16).
* ``fee`` -- Factura electrónica de exportación: green coffee in USD with TipoCambio, exempt, export costs.
* ``rep`` -- Recibo electrónico de pago: payment of an FE sold on credit under Art. 27 LIVA (CondicionVenta
  10 → 11).
* ``mr``  -- MensajeReceptor: acceptance of a supplier's FE with full IVA credit.
"""

from __future__ import annotations

import json
from typing import Any

from cr_einvoice.core.errors import ValidationError

__all__ = ["EXAMPLE_KINDS", "example_json"]

#: A made-up FE clave (the worked example of the notes: 15 July 2026, cédula jurídica 3101123456, number 123).
FE_CLAVE = "50615072600310112345600100001010000000123148213975"
FE_FECHA = "2026-07-15T09:30:00-06:00"

_EMISOR: dict[str, Any] = {
    "nombre": "Soluciones Tecnológicas del Valle S.A.",
    "identificacion": {"tipo": "02", "numero": "3101123456"},
    "nombre_comercial": "TecnoValle",
    "ubicacion": {
        "provincia": "1",
        "canton": "01",
        "distrito": "08",
        "barrio": "Mata Redonda",
        "otras_senas": "Del Estadio Nacional 200 metros oeste, edificio azul, segundo piso",
    },
    "telefono": {"codigo_pais": 506, "num_telefono": "22905500"},
    "correos_electronicos": ["facturacion@tecnovalle.example.cr"],
}
_RECEPTOR: dict[str, Any] = {
    "nombre": "Distribuidora La Sabana Limitada",
    "identificacion": {"tipo": "02", "numero": "3102654321"},
    "ubicacion": {
        "provincia": "2",
        "canton": "01",
        "distrito": "01",
        "otras_senas": "Avenida 2, costado norte del parque central de Alajuela",
    },
    "correo_electronico": "cuentasporpagar@lasabana.example.cr",
}
_IVA13: dict[str, Any] = {"codigo": "01", "codigo_tarifa_iva": "08"}
_LAPTOP: dict[str, Any] = {
    "codigo_cabys": "4527100000100",
    "codigos_comerciales": [{"tipo": "01", "codigo": "NB-14-PRO"}],
    "detalle": "Computadora portátil 14 pulgadas, 16 GB RAM",
    "unidad_medida": "Unid",
    "precio_unitario": "485000.00000",
    "descuentos": [{"codigo_descuento": "04", "porcentaje": "5"}],
    "impuestos": [_IVA13],
}

_EXAMPLES: dict[str, dict[str, Any]] = {
    "fe": {
        "tipo": "fe",
        "proveedor_sistemas": "3101123456",
        "codigo_actividad_emisor": "620100",
        "codigo_actividad_receptor": "464901",
        "emisor": _EMISOR,
        "receptor": _RECEPTOR,
        "condicion_venta": "01",
        "lineas": [
            {
                "codigo_cabys": "8314200000000",
                "detalle": "Desarrollo de módulo de inventarios a la medida",
                "cantidad": "12",
                "unidad_medida": "h",
                "tipo_transaccion": "01",
                "precio_unitario": "25000.00000",
                "impuestos": [_IVA13],
            },
            {**_LAPTOP, "cantidad": "2"},
            {
                "codigo_cabys": "4529200000200",
                "detalle": "Mouse inalámbrico ergonómico",
                "cantidad": "2",
                "unidad_medida": "Unid",
                "precio_unitario": "12500.00000",
                "descuentos": [{"codigo_descuento": "06", "monto_descuento": "1500.00000"}],
                "impuestos": [_IVA13],
            },
            {
                "codigo_cabys": "2316100000100",
                "detalle": "Arroz blanco 99% grano entero, bolsa de 2 kg",
                "cantidad": "10",
                "unidad_medida": "Unid",
                "precio_unitario": "2150.00000",
                "impuestos": [{"codigo": "01", "codigo_tarifa_iva": "02"}],
            },
        ],
        "medios_pago": [{"tipo_medio_pago": "04"}],
        "otros": {"otros_textos": [{"valor": "Orden de compra OC-2026-0457", "codigo": "OC"}]},
    },
    "nd": {
        "tipo": "nd",
        "proveedor_sistemas": "3101123456",
        "codigo_actividad_emisor": "620100",
        "emisor": _EMISOR,
        "receptor": _RECEPTOR,
        "condicion_venta": "01",
        "otros_cargos": [
            {
                "tipo_documento_oc": "10",
                "detalle": "Intereses moratorios: 30 días de atraso sobre la factura 0000000123",
                "porcentaje_oc": "2",
                "monto_cargo": "16920.00000",
            }
        ],
        "medios_pago": [{"tipo_medio_pago": "04"}],
        "referencias": [
            {
                "tipo_doc_ir": "01",
                "numero": FE_CLAVE,
                "fecha_emision_ir": FE_FECHA,
                "codigo": "10",
                "razon": "Cobro de intereses moratorios por pago tardío",
            }
        ],
    },
    "nc": {
        "tipo": "nc",
        "proveedor_sistemas": "3101123456",
        "codigo_actividad_emisor": "620100",
        "emisor": _EMISOR,
        "receptor": _RECEPTOR,
        "condicion_venta": "01",
        "lineas": [{**_LAPTOP, "cantidad": "1", "detalle": "Devolución: computadora portátil 14 pulgadas"}],
        "medios_pago": [{"tipo_medio_pago": "04"}],
        "referencias": [
            {
                "tipo_doc_ir": "01",
                "numero": FE_CLAVE,
                "fecha_emision_ir": FE_FECHA,
                "codigo": "06",
                "razon": "Devolución de un equipo con defecto de fábrica",
            }
        ],
    },
    "te": {
        "tipo": "te",
        "proveedor_sistemas": "3101123456",
        "codigo_actividad_emisor": "561001",
        "emisor": {
            **_EMISOR,
            "nombre": "Restaurante El Fogón de la Abuela S.A.",
            "identificacion": {"tipo": "02", "numero": "3101778899"},
            "nombre_comercial": "El Fogón",
            "correos_electronicos": ["caja@elfogon.example.cr"],
        },
        "lineas": [
            {
                "codigo_cabys": "6331100000100",
                "detalle": "Casado con pollo en salsa",
                "cantidad": "2",
                "unidad_medida": "Unid",
                "precio_unitario": "4500.00000",
                "impuestos": [_IVA13],
            },
            {
                "codigo_cabys": "2399100000100",
                "detalle": "Refresco natural de cas 500 ml",
                "cantidad": "1",
                "unidad_medida": "Unid",
                "precio_unitario": "1200.00000",
                "impuestos": [_IVA13],
            },
        ],
        "otros_cargos": [
            {
                "tipo_documento_oc": "06",
                "detalle": "Impuesto de servicio 10%",
                "porcentaje_oc": "10",
                "monto_cargo": "1020.00000",
            }
        ],
        "medios_pago": [
            {"tipo_medio_pago": "01", "total_medio_pago": "5000.00000"},
            {"tipo_medio_pago": "06", "total_medio_pago": "7546.00000"},
        ],
    },
    "fec": {
        "tipo": "fec",
        "proveedor_sistemas": "3101123456",
        "codigo_actividad_receptor": "620100",
        "emisor": {
            "nombre": "Northwind Cloud Services LLC",
            "identificacion": {"tipo": "05", "numero": "840123456789"},
            "otras_senas_extranjero": "500 Market Street, Suite 900, San Francisco, CA 94105, Estados Unidos",
            "correos_electronicos": ["billing@northwind-cloud.example"],
        },
        "receptor": {
            "nombre": _EMISOR["nombre"],
            "identificacion": _EMISOR["identificacion"],
            "ubicacion": _EMISOR["ubicacion"],
            "correo_electronico": "compras@tecnovalle.example.cr",
        },
        "condicion_venta": "01",
        "lineas": [
            {
                "codigo_cabys": "8315300000100",
                "detalle": "Suscripción anual a servicios de almacenamiento en la nube",
                "cantidad": "1",
                "unidad_medida": "Os",
                "precio_unitario": "1200.00000",
                "impuestos": [_IVA13],
            }
        ],
        "codigo_moneda": "USD",
        "tipo_cambio": "512.35000",
        "medios_pago": [{"tipo_medio_pago": "02"}],
        "referencias": [
            {
                "tipo_doc_ir": "16",
                "numero": "INV-2026-000123",
                "fecha_emision_ir": "2026-07-10T08:00:00-06:00",
                "codigo": "11",
                "razon": "Factura del proveedor no domiciliado INV-2026-000123",
            }
        ],
    },
    "fee": {
        "tipo": "fee",
        "proveedor_sistemas": "3101123456",
        "codigo_actividad_emisor": "012701",
        "emisor": {
            "nombre": "Café de Altura de Tarrazú Exportadora S.A.",
            "identificacion": {"tipo": "02", "numero": "3101445566"},
            "ubicacion": {
                "provincia": "1",
                "canton": "05",
                "distrito": "01",
                "otras_senas": "Beneficio La Pastora, 1 km al sur de la iglesia de San Marcos",
            },
            "correos_electronicos": ["exportaciones@cafetarrazu.example.cr"],
        },
        "receptor": {
            "nombre": "Hanseatic Specialty Coffee Importers GmbH",
            "identificacion": {"tipo": "05", "numero": "DE812345678"},
            "otras_senas_extranjero": "Hafenstrasse 12, 20457 Hamburg, Alemania",
            "correo_electronico": "purchasing@hanseatic-coffee.example",
        },
        "condicion_venta": "01",
        "lineas": [
            {
                "partida_arancelaria": "090111000000",
                "codigo_cabys": "0161100000100",
                "detalle": "Café verde en grano, oro lavado SHB, 60 sacos de 69 kg",
                "cantidad": "4140",
                "unidad_medida": "Kg",
                "precio_unitario": "6.85000",
                "impuestos": [{"codigo": "01", "codigo_tarifa_iva": "10"}],
            }
        ],
        "otros_cargos": [
            {
                "tipo_documento_oc": "05",
                "detalle": "Flete interno y trámites de exportación",
                "monto_cargo": "450.00000",
            }
        ],
        "codigo_moneda": "USD",
        "tipo_cambio": "505.20000",
        "medios_pago": [{"tipo_medio_pago": "04"}],
    },
    "rep": {
        "tipo": "rep",
        "proveedor_sistemas": "3101123456",
        "emisor": {
            "nombre": _EMISOR["nombre"],
            "identificacion": _EMISOR["identificacion"],
            "correos_electronicos": _EMISOR["correos_electronicos"],
        },
        "receptor": {
            "nombre": _RECEPTOR["nombre"],
            "identificacion": _RECEPTOR["identificacion"],
            "correo_electronico": _RECEPTOR["correo_electronico"],
        },
        "condicion_venta": "11",
        "lineas": [
            {
                "detalle": "Pago de la factura 00100001010000000123: desarrollo de software",
                "monto_total": "250000.00000",
                "impuestos": [_IVA13],
            }
        ],
        "medios_pago": [{"tipo_medio_pago": "04"}],
        "referencias": [
            {
                "tipo_doc_ir": "01",
                "numero": FE_CLAVE,
                "fecha_emision_ir": FE_FECHA,
                "codigo": "04",
                "razon": "Pago de venta a crédito con IVA hasta 90 días (Art. 27 LIVA)",
            }
        ],
    },
    "mr": {
        "tipo": "mr",
        "clave": "50615072600310165432100100001010000000045171625348",
        "numero_cedula_emisor": "3101654321",
        "mensaje": "1",
        "detalle_mensaje": "Mercadería recibida conforme",
        "monto_total_impuesto": "4186.48148",
        "codigo_actividad": "620100",
        "condicion_impuesto": "01",
        "monto_total_impuesto_acreditar": "4186.48148",
        "monto_total_de_gasto_aplicable": "32203.70367",
        "total_factura": "36390.18515",
        "numero_cedula_receptor": "3101123456",
    },
}

#: The kinds :func:`example_json` knows.
EXAMPLE_KINDS: tuple[str, ...] = tuple(_EXAMPLES)


def example_json(kind: str) -> dict[str, Any]:
    """A fresh copy of the example of ``kind`` (``fe nd nc te fec fee rep mr``), ready for
    :func:`cr_einvoice.vouchers.jsonio.document_from_json`."""
    try:
        example = _EXAMPLES[kind.lower()]
    except KeyError:
        raise ValidationError(
            f"unknown example {kind!r} (expected one of {', '.join(EXAMPLE_KINDS)})", path="kind"
        ) from None
    # a JSON round trip: a fresh copy without shared sub-objects, exactly what a file would give
    result: dict[str, Any] = json.loads(json.dumps(example, ensure_ascii=False))
    return result
