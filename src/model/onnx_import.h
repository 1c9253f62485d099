// ONNX (opset 11-17) float models, read with Debian's ONNX protobuf library and translated into
// the same layer list the ncnn reader produces, so one runtime serves both formats.
#pragma once
#include <string>

#include "model/ncnn_model.h"

namespace qgpu {
namespace model {

// QGPU_ERROR_UNSUPPORTED when built without ONNX (QGPU_WITH_ONNX=OFF) or for an operator or
// attribute the runtime does not handle (named in the message); QGPU_ERROR_FORMAT for a file
// that does not parse.
Status import_onnx(const std::string& path, int32_t batch, NcnnModel* model);

// Whether a model path names an ONNX file (by its ".onnx" suffix) rather than an ncnn .param.
inline bool is_onnx_path(const std::string& path) {
    return path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0;
}

}  // namespace model
}  // namespace qgpu
