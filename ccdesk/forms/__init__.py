"""The printed forms of the one-stop desk (Circular 03/2025 and Circular 01/2018 sets, the
register and the II.06a report): templates, PDF and text rendering, printing. No Textual.

Use it as ``FormService(services)`` (:class:`ccdesk.forms.service.FormService`). Importing this
package is cheap: fpdf2 and the fonts load on the first PDF.
"""
