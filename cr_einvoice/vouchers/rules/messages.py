"""Hacienda's rejection messages, exactly as captured, by code."""

from __future__ import annotations

__all__ = ["MESSAGES"]

#: Hacienda's texts, exactly as captured (accents and typos included); ``{n}`` is the line number.
MESSAGES: dict[int, str] = {
    -1: "El tipo de documento no corresponde.",
    -8: "El número de identificación de la clave numérica no coincide con el número de identificación del "
    "emisor.",
    -23: "La numeración del consecutivo del comprobante no coincide con el valor de la clave.",
    -45: "En la línea ({n}) el campo de Tarifa es obligatorio para el Codigo de Impuesto {codigo}",
    -46: "El monto total de la línea ({n}) no coincide con la suma de los campos denominados subtotal y "
    "monto del impuesto.",
    -52: "El monto total de descuentos no coincide con la suma de los descuentos concedidos",
    -54: "El monto total de impuestos no coincide con la suma de los campos denominados 'Monto del Impuesto'",
    -58: "El campo denominado 'Plazo del crédito' no posee la estructura establecida para el mismo.",
    # The opening words of -110 were not captured; the rest is Hacienda's text.
    -110: "El comprobante carece del monto total de mercancías gravados, pero cuenta con mercancías gravados",
    -111: "El monto total de servicios gravados no coincide con la suma de los servicios gravados",
    -405: "La fecha de la clave númerica no concuerda con el campo Fecha Emisión del comprobante",
    -487: "El documento posee detalle de Impuesto pero carece del campo Total Desglose Impuestos",
    -492: "El Tipo Medio Pago OTRO es obligatorio cuando se utilice el Tipo de Medio Pago '99'",
    # Captured for code 10 ("la tarifa debe ser 0"); the same form is used for the other tarifa codes.
    -505: "En la línea ({n}), para el código de tarifa '{codigo}' la tarifa debe ser {tarifa}",
}
