// A network loaded from ncnn files and compiled into a list of steps on one device: convs
// through ConvKernel, the other layers through OpKernel. In an int8 net, blobs joined by layers
// that do not change values (Split, Concat, max pooling, ReLU, Dropout) form a *region* that
// shares one int8 quantization, so a conv requantizes straight into its consumers' scale and
// consecutive int8 layers never pass through float.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"

struct qgpu_tensor_t;
struct qgpu_table_t;

namespace qgpu {
namespace model {

struct NetOptions {
    std::string param_path, bin_path, table_path;
    qgpu_precision precision = QGPU_PRECISION_INT8;
    int32_t batch = 1;
    std::vector<std::string> float_layers;  // conv layers kept in fp32
    qgpu_table_t* table = nullptr;           // activation scales from memory (else table_path)
};

class Net {
public:
    ~Net();
    static Status create(const std::shared_ptr<Device>& device, const NetOptions& options,
                         std::unique_ptr<Net>* out);
    Status set_input(const std::string& blob, const float* data, size_t count);
    Status run();
    Status read(const std::string& blob, float* data, size_t count);
    Status shape(const std::string& blob, int32_t shape[4]);
    // Every conv's (layer name, input blob name), in graph order: what calibration observes.
    const std::vector<std::pair<std::string, std::string>>& conv_inputs() const { return conv_inputs_; }
    int32_t batch() const { return batch_; }
    // What the net became: "conv1: int8 conv 3x3 ... -> int8" lines, for tools and tests.
    const std::string& summary() const { return summary_; }

    struct Step {
        std::unique_ptr<ConvKernel> conv;
        std::unique_ptr<OpKernel> op;
        std::vector<int32_t> inputs;  // tensor indices
        int32_t output = -1;
        std::string name;             // its line of the summary
    };

private:
    Net() = default;
    Status find(const std::string& blob, qgpu_tensor_t** out);
    Status run_steps(bool profile);  // every layer in order
    Status run_step(Step& s);

    std::shared_ptr<Device> device_;
    std::vector<std::string> blob_names_;
    std::vector<int32_t> blob_tensor_;      // blob -> tensor index (aliases share one)
    std::vector<qgpu_tensor_t*> tensors_;
    std::vector<Step> steps_;
    std::string summary_;
    std::vector<std::pair<std::string, std::string>> conv_inputs_;
    int32_t batch_ = 1;
    friend class NetBuilder;
};

}  // namespace model
}  // namespace qgpu
