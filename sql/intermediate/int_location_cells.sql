-- int_location_cells
-- Grain: one row per boundary level (ward, lsoa) x grid cell x current zone touching the cell.
-- unique_key: level, cell, code
-- A spatial index for placing points (int_offences_located): each zone clipped to each cell of
-- int_location_grid it touches. A cell touched by one zone that covers it (`sole_cover`) places its
-- points by arithmetic alone; elsewhere a point is tested against the small clipped pieces, not the
-- whole boundary, which keeps location fast on millions of records.
-- Built coarse to fine: blocks of 8 x 8 cells first, each zone clipped to the blocks it touches;
-- the cells of a block one zone covers are all sole_cover, the others are tested against the
-- block's small pieces rather than the whole boundary.
with zones as (
    select 'ward' as level, ward_code as code, geom from ref_wards where geom is not null
    union all
    select 'lsoa' as level, lsoa_code as code, geom from ref_lsoas where geom is not null
),

blocks as (
    select bi, bj, grid_cell_box(bi * ((ny + 7) // 8) + bj, x0, y0, 8 * cell_m, (ny + 7) // 8) as box
    from int_location_grid, range((nx + 7) // 8) as block_columns(bi), range((ny + 7) // 8) as block_rows(bj)
),

block_zones as (
    select zones.level, zones.code, blocks.bi, blocks.bj, blocks.box, st_covers(zones.geom, blocks.box) as covers
    from blocks
    join zones on st_intersects(zones.geom, blocks.box)
),

block_sole as (
    select *, covers and count(*) over (partition by level, bi, bj) = 1 as sole_cover from block_zones
),

block_pieces as (
    select block_sole.level, block_sole.code, block_sole.bi, block_sole.bj, st_intersection(zones.geom, block_sole.box) as piece
    from block_sole
    join zones using (level, code)
    where not block_sole.sole_cover
),

cells_of_blocks as (
    select bi, bj, (bi * 8 + di) * ny + bj * 8 + dj as cell
    from int_location_grid, range((nx + 7) // 8) as block_columns(bi), range((ny + 7) // 8) as block_rows(bj),
        range(8) as block_column(di), range(8) as block_row(dj)
    where bi * 8 + di < nx and bj * 8 + dj < ny
),

edge_cells as (
    select block_pieces.level, cells.cell, block_pieces.code, block_pieces.piece,
        grid_cell_box(cells.cell, grid.x0, grid.y0, grid.cell_m, grid.ny) as box
    from block_pieces
    join cells_of_blocks as cells using (bi, bj)
    cross join int_location_grid as grid
    where st_intersects(block_pieces.piece, box)
),

classified as (
    select block_sole.level, cells.cell, block_sole.code, true as sole_cover, null::geometry as piece, null::geometry as box
    from block_sole
    join cells_of_blocks as cells using (bi, bj)
    where block_sole.sole_cover
    union all
    select level, cell, code, count(*) over (partition by level, cell) = 1 and st_covers(piece, box) as sole_cover,
        piece, box
    from edge_cells
)

select level, cell, code, sole_cover, case when not sole_cover then st_intersection(piece, box) end as piece
from classified
