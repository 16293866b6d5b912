"""Hacienda's rejection (and warning) messages, exactly as captured, by code.

The business rules use most of them; the registry codes (-37, -400, -407, -408), the clock (-53), the late
submission (-16), the signer (-60) and the repeated consecutivo (-99) are used by the preflight
(:mod:`cr_einvoice.preflight`) and the simulator (:mod:`cr_einvoice.sandbox`).
"""

from __future__ import annotations

__all__ = ["HORA_NO_OFICIAL", "MESSAGES"]

#: Hacienda's texts, exactly as captured (accents and typos included); ``{n}`` is the line number.
MESSAGES: dict[int, str] = {
    -1: "El tipo de documento no corresponde.",
    -8: "El número de identificación de la clave numérica no coincide con el número de identificación del "
    "emisor.",
    # Accepted with this warning (Mensaje 1); the notes give no figure for the delay.
    -16: "El archivo XML, fue enviado a la Dirección General de Tributación de manera extemporánea; con base "
    "en lo estipulado en el artículo 9 y 15 ambos de la resolución 48-2016",
    -23: "La numeración del consecutivo del comprobante no coincide con el valor de la clave.",
    -37: "Estimado obligado tributario los datos suministrados en provincia, cantón y distrito del 'emisor' "
    "no concuerdan con la información registrada en la Dirección General de Tributación, favor proceder "
    "actualizar sus datos.",
    -45: "En la línea ({n}) el campo de Tarifa es obligatorio para el Codigo de Impuesto {codigo}",
    -46: "El monto total de la línea ({n}) no coincide con la suma de los campos denominados subtotal y "
    "monto del impuesto.",
    -52: "El monto total de descuentos no coincide con la suma de los descuentos concedidos",
    -53: "La fecha de emisión del comprobante electrónico no puede ser superior al día de hoy.",
    -54: "El monto total de impuestos no coincide con la suma de los campos denominados 'Monto del Impuesto'",
    -58: "El campo denominado 'Plazo del crédito' no posee la estructura establecida para el mismo.",
    -60: "El contribuyente que firma la factura electrónica no es el emisor.",
    # The 2024 form; {since} is dd-MM-yyyy HH:mm:ss.
    -99: "La numeración consecutiva {consecutivo} del comprobante que se está utilizando para este archivo "
    "XML ya existe en nuestras bases de datos desde el día {since} en la clave {clave}",
    # The opening words of -110 were not captured; the rest is Hacienda's text.
    -110: "El comprobante carece del monto total de mercancías gravados, pero cuenta con mercancías gravados",
    -111: "El monto total de servicios gravados no coincide con la suma de los servicios gravados",
    -400: "En la línea ({n}) el código indicado en el campo 'Código de Producto/Servicio' no se encuentra en "
    "el Catálogo de Bienes y Servicios CAByS, por favor verifique la codificación utilizada para el producto "
    "o servicio facturado. El CAByS se encuentra disponible en el portal web del Banco Central de Costa Rica",
    -405: "La fecha de la clave númerica no concuerda con el campo Fecha Emisión del comprobante",
    -407: "El Código de la Actividad Económica del emisor que se indica en el comprobante electrónico no se "
    "encuentra Registrado ante el Ministerio de Hacienda para este contribuyente, favor verificar",
    -408: "El Código de la Actividad Económica del emisor que se indica en el comprobante electrónico, no es "
    "un código valido conforme el Catalogo de Actividades Económicas del Registro Único Tributario.",
    -487: "El documento posee detalle de Impuesto pero carece del campo Total Desglose Impuestos",
    -492: "El Tipo Medio Pago OTRO es obligatorio cuando se utilice el Tipo de Medio Pago '99'",
    # Captured for code 10 ("la tarifa debe ser 0"); the same form is used for the other tarifa codes.
    -505: "En la línea ({n}), para el código de tarifa '{codigo}' la tarifa debe ser {tarifa}",
}

#: The other -53 text: a warning on an accepted voucher whose emission time is off Hacienda's clock.
HORA_NO_OFICIAL = "La hora indicada en la emisión del archivo XML no coincide con la hora oficial."
