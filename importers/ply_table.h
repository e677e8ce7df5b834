#pragma once
// The vertex element of a PLY file as a table of floats, one column per scalar property.
// Reads ascii and binary_little_endian files; every count and offset is checked against the file
// size before anything is allocated, and a file cut short keeps its complete rows with a warning.
// Used by the 3DGS splat reader and by the point-cloud baker; meshes go through Assimp.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/math3d.h"

namespace by {

struct PlyTable {
    size_t rows = 0;
    uint64_t declaredRows = 0;       // the vertex count the header declares (rows may be fewer)
    std::vector<std::string> names;  // scalar properties of the vertex element, in file order
    std::vector<float> values;       // rows * names.size(), row-major
    std::vector<std::string> warnings;
    bool hasFaces = false;           // a "face" element is declared (a mesh, not a point cloud)

    int column(const std::string& name) const;  // -1 when absent
    float at(size_t row, int col) const { return values[row * names.size() + static_cast<size_t>(col)]; }
};

// Only the header: property names and counts, rows left empty. For probing a .ply's kind.
Result<PlyTable> readPlyHeader(const std::string& path);
Result<PlyTable> readPlyVertices(const std::string& path);

}  // namespace by

namespace by {

// A coloured point cloud from a PLY vertex element (x y z, optional nx ny nz, colour as
// red/green/blue or diffuse_red/... in 0..255 or 0..1). Points with NaN coordinates are dropped
// with a warning.
struct PointCloud {
    std::vector<Vec3> positions;
    std::vector<Vec3> colors;   // 0..1, grey when the file has none
    std::vector<Vec3> normals;  // empty when the file has none
    std::vector<std::string> warnings;
};

Result<PointCloud> readPointCloudPly(const std::string& path);

}  // namespace by
