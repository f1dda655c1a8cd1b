"""Reading the invoice itself: QR codes on photos and PDF pages, the PDF text layer, OFD XML.

model, values, qr, text, merge and entries are pure; image, pdf, ofd and reader read bytes
(CPU-bound, synchronous); sandbox runs reader in worker processes with time and memory limits.
"""
