// `import Ember` brings the whole library: tensors, modules, files and the LLM toolkit.
@_exported import EmberCore
@_exported import EmberNN
@_exported import EmberIO
@_exported import EmberLLM
