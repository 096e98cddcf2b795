// Maps a file into memory and hands it to JavaScript as a SharedArrayBuffer, so that Atomics on
// views of it synchronise with other processes that map the same file (the Aeron media driver and
// its clients). Nothing else lives here: the Aeron protocol is implemented in TypeScript.
//
// The mapping is released by the backing store's deleter, i.e. when the last JavaScript reference
// is garbage collected; an explicit unmap could leave live views pointing at unmapped pages.
#include <node.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

void Unmap(void* data, size_t length, void* /*deleter_data*/) {
  if (data != nullptr && length > 0) munmap(data, length);
}

void Throw(v8::Isolate* isolate, const std::string& message, int code) {
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Value> error =
      v8::Exception::Error(v8::String::NewFromUtf8(isolate, message.c_str()).ToLocalChecked());
  const char* name = code == ENOENT ? "ENOENT" : code == EACCES ? "EACCES" : "EIO";
  error.As<v8::Object>()
      ->Set(context, v8::String::NewFromUtf8Literal(isolate, "code"),
            v8::String::NewFromUtf8(isolate, name).ToLocalChecked())
      .Check();
  isolate->ThrowException(error);
}

// map(path: string, writable: boolean): SharedArrayBuffer over the whole file.
void Map(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  if (args.Length() < 2 || !args[0]->IsString() || !args[1]->IsBoolean()) {
    isolate->ThrowException(v8::Exception::TypeError(
        v8::String::NewFromUtf8Literal(isolate, "map(path: string, writable: boolean)")));
    return;
  }
  v8::String::Utf8Value path(isolate, args[0]);
  const bool writable = args[1]->BooleanValue(isolate);

  const int fd = open(*path, writable ? O_RDWR : O_RDONLY);
  if (fd < 0) {
    const int code = errno;
    Throw(isolate, std::string("cannot open ") + *path + ": " + strerror(code), code);
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    const int code = errno;
    close(fd);
    Throw(isolate, std::string("cannot map ") + *path + ": empty or unreadable file", code);
    return;
  }
  const size_t length = static_cast<size_t>(st.st_size);
  void* data = mmap(nullptr, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  const int code = errno;
  close(fd);  // the mapping keeps the file referenced
  if (data == MAP_FAILED) {
    Throw(isolate, std::string("cannot map ") + *path + ": " + strerror(code), code);
    return;
  }
  std::unique_ptr<v8::BackingStore> store =
      v8::SharedArrayBuffer::NewBackingStore(data, length, Unmap, nullptr);
  args.GetReturnValue().Set(v8::SharedArrayBuffer::New(isolate, std::move(store)));
}

void Initialize(v8::Local<v8::Object> exports, v8::Local<v8::Value>, v8::Local<v8::Context>, void*) {
  NODE_SET_METHOD(exports, "map", Map);
}

}  // namespace

NODE_MODULE_CONTEXT_AWARE(bourse_shm, Initialize)
