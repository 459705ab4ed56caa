// Prediction heads with AdapterHub's layout and semantics: on the [CLS] vector,
// (dropout -> Linear(D,D) -> act) x (layers-1) -> dropout -> Linear(D, outputs).
// Classification (num_labels > 1: cross-entropy; num_labels == 1: regression with MSE) and
// multiple choice (one score per choice, cross-entropy over the choices).
// Parameter names follow nn.Sequential indices: heads.<name>.<1 + 3k>.{weight,bias}.
//
// Shape legend: B rows of the encoder batch, L sequence length, D hidden, O head outputs,
// E examples (= B, or B / num_choices for multiple choice), C classes per example.
#pragma once
#include <string>
#include <vector>

#include "backend.h"
#include "json.h"

namespace af {

enum class HeadType { Classification, MultipleChoice };

struct HeadConfig {
  HeadType type = HeadType::Classification;
  int num_labels = 2;    // classification
  int num_choices = 2;   // multiple choice
  int layers = 2;
  Activation activation = Activation::Tanh;
  bool bias = true;      // bias of the output layer
  double dropout_prob = -1;  // < 0: null (the model's hidden_dropout_prob)
  Json source;           // the "config" object, kept for saving

  int outputs() const { return type == HeadType::MultipleChoice ? 1 : num_labels; }
  int classes() const { return type == HeadType::MultipleChoice ? num_choices : num_labels; }
  bool regression() const { return type == HeadType::Classification && num_labels == 1; }

  // Parses head_config.json's "config"; Unsupported for use_pooler or other head types.
  static HeadConfig from_json(const Json& config, const std::string& what);
  // The full "config" object to write (AdapterHub's fields, defaults filled in).
  Json to_json() const;
};

// Per head: indices of its Linear layers in the parameter table (bias SIZE_MAX when absent).
struct HeadParams {
  std::vector<size_t> weight, bias;
};

// Names and shapes of a head's parameters.
std::vector<std::pair<std::string, std::vector<int64_t>>> head_param_shapes(
    const std::string& name, const HeadConfig& config, int hidden_size);

}  // namespace af
