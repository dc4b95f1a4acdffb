"""The Excel side: a workbook package opened safely, scenarios read, result sheets written.

package.py   opens a workbook package safely: what it is, its parts, sheets and names
cells.py     the cells of a few columns, streamed from a sheet's XML (never a grid)
reader.py    workbook -> scenarios, or the wrong cells of each (pandas, calamine)
template.py  the blank workbook an administrator fills in
styles.py    the one style table of the template and the result sheets
sheets.py    results -> the summary sheet and one result sheet per scenario (openpyxl)
writer.py    the result sheets grafted into the user's workbook, written to a file
graft.py     the graft itself, at the zip and XML level: every other part kept as it was
"""
