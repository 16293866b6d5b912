"""Delivery of vouchers to their receptor: the graphic representation and the e-mail (MIME composition and
SMTP sending). No store here: the outbox keeps track of what was delivered.

The graphic representation: :func:`cr_einvoice.delivery.pdf.render_pdf` (a PDF's bytes from the signed XML
and Hacienda's answer: A4 or Letter pages, 80 mm or 58 mm thermal rolls, a QR code of the clave), built from
the view model of :mod:`cr_einvoice.delivery.document`. It needs the optional extra ``cr-einvoice[pdf]``
(reportlab, zxing-cpp).
"""
